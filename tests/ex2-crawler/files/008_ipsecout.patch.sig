untrusted comment: verify with openbsd-62-base.pub
RWRVWzAMgtyg7849073b4692545a1f426241fe9425946QWRpY2tlbnMgaXMgYSBnb29kIHJlYWQ=

OpenBSD 6.2 errata 008, ipsecout:

Apply by doing:
    signify -Vep /etc/signify/openbsd-62-base.pub -x 008_ipsecout.patch.sig \
        -m - | (cd /usr/src && patch -p0)
