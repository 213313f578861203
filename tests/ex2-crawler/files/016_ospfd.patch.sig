untrusted comment: verify with openbsd-62-base.pub
RWRVWzAMgtyg74be8d119555568e2571bf60831ff6b06QWRpY2tlbnMgaXMgYSBnb29kIHJlYWQ=

OpenBSD 6.2 errata 016, ospfd:

Apply by doing:
    signify -Vep /etc/signify/openbsd-62-base.pub -x 016_ospfd.patch.sig \
        -m - | (cd /usr/src && patch -p0)
