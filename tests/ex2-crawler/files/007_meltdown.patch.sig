untrusted comment: verify with openbsd-62-base.pub
RWRVWzAMgtyg7fc6552c9ddd5b9b99b4f883dd7fa9459QWRpY2tlbnMgaXMgYSBnb29kIHJlYWQ=

OpenBSD 6.2 errata 007, meltdown:

Apply by doing:
    signify -Vep /etc/signify/openbsd-62-base.pub -x 007_meltdown.patch.sig \
        -m - | (cd /usr/src && patch -p0)
