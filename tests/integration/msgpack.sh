# msgpack.sh: writing msgpack by hand in bash, for messages that no well-behaved
# producer would send (wrong types, bad paths, broken bytes). Each function
# prints raw bytes on stdout; concatenate them into a file.
#   mp_map N        a map header of N pairs (N < 16)
#   mp_array N      an array header (N < 16)
#   mp_str S        a string (any length < 65536)
#   mp_uint N       an unsigned integer (< 2^32)
#   mp_bin S        S as binary (< 256 bytes)

mp_byte() { printf "\\x$(printf %02x "$1")"; }

mp_map() { mp_byte $((0x80 + $1)); }
mp_array() { mp_byte $((0x90 + $1)); }

mp_str() {
    local s=$1 n=${#1}
    if ((n < 32)); then
        mp_byte $((0xa0 + n))
    elif ((n < 256)); then
        mp_byte 0xd9; mp_byte "$n"
    else
        mp_byte 0xda; mp_byte $((n >> 8)); mp_byte $((n & 255))
    fi
    printf '%s' "$s"
}

mp_uint() {
    local n=$1
    if ((n < 128)); then
        mp_byte "$n"
    else
        mp_byte 0xce
        mp_byte $(((n >> 24) & 255)); mp_byte $(((n >> 16) & 255))
        mp_byte $(((n >> 8) & 255)); mp_byte $((n & 255))
    fi
}

mp_bin() { mp_byte 0xc4; mp_byte "${#1}"; printf '%s' "$1"; }
