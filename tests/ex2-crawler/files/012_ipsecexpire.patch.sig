untrusted comment: verify with openbsd-62-base.pub
RWRVWzAMgtyg71f95ead6cec5c29577b81ceb815a7961QWRpY2tlbnMgaXMgYSBnb29kIHJlYWQ=

OpenBSD 6.2 errata 012, ipsecexpire:

Apply by doing:
    signify -Vep /etc/signify/openbsd-62-base.pub -x 012_ipsecexpire.patch.sig \
        -m - | (cd /usr/src && patch -p0)
