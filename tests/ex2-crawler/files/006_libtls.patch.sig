untrusted comment: verify with openbsd-62-base.pub
RWRVWzAMgtyg71bdfdfce236a2e0e57c76922d082552bQWRpY2tlbnMgaXMgYSBnb29kIHJlYWQ=

OpenBSD 6.2 errata 006, libtls:

Apply by doing:
    signify -Vep /etc/signify/openbsd-62-base.pub -x 006_libtls.patch.sig \
        -m - | (cd /usr/src && patch -p0)
