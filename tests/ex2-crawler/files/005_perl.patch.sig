untrusted comment: verify with openbsd-62-base.pub
RWRVWzAMgtyg74cbd61b77f0037d250fccb0b7d529983QWRpY2tlbnMgaXMgYSBnb29kIHJlYWQ=

OpenBSD 6.2 errata 005, perl:

Apply by doing:
    signify -Vep /etc/signify/openbsd-62-base.pub -x 005_perl.patch.sig \
        -m - | (cd /usr/src && patch -p0)
