untrusted comment: verify with openbsd-62-base.pub
RWRVWzAMgtyg75d057b94cbc2fa08e8fb7f7541bb1d14QWRpY2tlbnMgaXMgYSBnb29kIHJlYWQ=

OpenBSD 6.2 errata 003, arp:

Apply by doing:
    signify -Vep /etc/signify/openbsd-62-base.pub -x 003_arp.patch.sig \
        -m - | (cd /usr/src && patch -p0)
