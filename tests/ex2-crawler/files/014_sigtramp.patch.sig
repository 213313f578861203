untrusted comment: verify with openbsd-62-base.pub
RWRVWzAMgtyg7bb880f846f2a2565ed62655c9619eb32QWRpY2tlbnMgaXMgYSBnb29kIHJlYWQ=

OpenBSD 6.2 errata 014, sigtramp:

Apply by doing:
    signify -Vep /etc/signify/openbsd-62-base.pub -x 014_sigtramp.patch.sig \
        -m - | (cd /usr/src && patch -p0)
