untrusted comment: verify with openbsd-62-base.pub
RWRVWzAMgtyg7eff373f0b42c00782d8ec545c53f99e4QWRpY2tlbnMgaXMgYSBnb29kIHJlYWQ=

OpenBSD 6.2 errata 002, mpls:

Apply by doing:
    signify -Vep /etc/signify/openbsd-62-base.pub -x 002_mpls.patch.sig \
        -m - | (cd /usr/src && patch -p0)
