package store

import (
	"encoding/binary"
	"fmt"
	"math"
)

// EncodeFP32 returns v as little-endian IEEE-754 float32 bytes, the blob
// format of both VADD FP32 and Query Engine FLOAT32 hash fields.
func EncodeFP32(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// DecodeFP32 is the inverse of EncodeFP32.
func DecodeFP32(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("decode fp32 vector: %d bytes is not a multiple of 4", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

// Similarity returns the cosine similarity of a and b mapped to [0,1] as
// (1+cos)/2, the scale of Hit.Score. It returns 0 for a zero vector or
// vectors of different length.
func Similarity(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return (1 + dot/math.Sqrt(na*nb)) / 2
}
