// Package c_test proves the C device library (PROTOCOL.md's device side in
// C99) against the spec's vectors and against the real gateway link, over
// real PTYs. The C code is built for the host with ASan and UBSan.
package c_test
