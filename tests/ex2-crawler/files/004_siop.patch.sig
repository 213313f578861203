untrusted comment: verify with openbsd-62-base.pub
RWRVWzAMgtyg782ca49507ad4a8971caab960a128b022QWRpY2tlbnMgaXMgYSBnb29kIHJlYWQ=

OpenBSD 6.2 errata 004, siop:

Apply by doing:
    signify -Vep /etc/signify/openbsd-62-base.pub -x 004_siop.patch.sig \
        -m - | (cd /usr/src && patch -p0)
