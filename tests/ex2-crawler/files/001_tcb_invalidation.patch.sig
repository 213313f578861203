untrusted comment: verify with openbsd-62-base.pub
RWRVWzAMgtyg7accd6302168f07b5993125653ca4f794QWRpY2tlbnMgaXMgYSBnb29kIHJlYWQ=

OpenBSD 6.2 errata 001, tcb_invalidation:

Apply by doing:
    signify -Vep /etc/signify/openbsd-62-base.pub -x 001_tcb_invalidation.patch.sig \
        -m - | (cd /usr/src && patch -p0)
