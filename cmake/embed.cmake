# embed.cmake - writes a C file holding a binary file as a byte array.
#   cmake -DIN=file.o -DOUT=file.c -DNAME=symbol -P embed.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}" "/* Generated from ${IN} by cmake/embed.cmake. */\n"
	"const unsigned char ${NAME}[] __attribute__((aligned(8))) = {\n${bytes}\n};\n"
	"const unsigned int ${NAME}_len = ${len};\n")
