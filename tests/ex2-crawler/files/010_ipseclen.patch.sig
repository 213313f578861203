untrusted comment: verify with openbsd-62-base.pub
RWRVWzAMgtyg72793aa051a84b87e5fff34bfa229458eQWRpY2tlbnMgaXMgYSBnb29kIHJlYWQ=

OpenBSD 6.2 errata 010, ipseclen:

Apply by doing:
    signify -Vep /etc/signify/openbsd-62-base.pub -x 010_ipseclen.patch.sig \
        -m - | (cd /usr/src && patch -p0)
