untrusted comment: verify with openbsd-62-base.pub
RWRVWzAMgtyg78b4f46332957b7f72775735f24ba3f0fQWRpY2tlbnMgaXMgYSBnb29kIHJlYWQ=

OpenBSD 6.2 errata 011, prevhdr:

Apply by doing:
    signify -Vep /etc/signify/openbsd-62-base.pub -x 011_prevhdr.patch.sig \
        -m - | (cd /usr/src && patch -p0)
