untrusted comment: verify with openbsd-62-base.pub
RWRVWzAMgtyg7208a0b6f5c8a32012a68cc21b9a30f87QWRpY2tlbnMgaXMgYSBnb29kIHJlYWQ=

OpenBSD 6.2 errata 013, ipseccnt:

Apply by doing:
    signify -Vep /etc/signify/openbsd-62-base.pub -x 013_ipseccnt.patch.sig \
        -m - | (cd /usr/src && patch -p0)
