untrusted comment: verify with openbsd-62-base.pub
RWRVWzAMgtyg770c5c0d9ed2c368b0b3a2e45dbb90a69QWRpY2tlbnMgaXMgYSBnb29kIHJlYWQ=

OpenBSD 6.2 errata 015, bgpd:

Apply by doing:
    signify -Vep /etc/signify/openbsd-62-base.pub -x 015_bgpd.patch.sig \
        -m - | (cd /usr/src && patch -p0)
