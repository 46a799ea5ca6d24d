// Winograd F(2x2, 3x3) tile transforms (Lavin & Gray 2015) on vectors of any lane type, the lanes
// being channels: the float kernels (kernels.cpp) and the exact integer int8 kernels
// (kernels_int8.cpp) share them. Only additions and subtractions, so they are exact on integers.
#pragma once

namespace digits {
namespace kernels {
namespace winograd {

// v[4 * r + c] = (B^T d B)[r][c] for the 4x4 input tile d, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0;
// 0 1 0 -1].
template <typename V>
inline void InputTile(const V (&d)[4][4], V (&v)[16]) {
  V u[4][4];
  for (int q = 0; q < 4; ++q) {  // B^T d
    u[0][q] = d[0][q] - d[2][q];
    u[1][q] = d[1][q] + d[2][q];
    u[2][q] = d[2][q] - d[1][q];
    u[3][q] = d[1][q] - d[3][q];
  }
  for (int r = 0; r < 4; ++r) {  // (B^T d) B
    v[4 * r] = u[r][0] - u[r][2];
    v[4 * r + 1] = u[r][1] + u[r][2];
    v[4 * r + 2] = u[r][2] - u[r][1];
    v[4 * r + 3] = u[r][1] - u[r][3];
  }
}

// y = A^T m A for one tile's 16 products m[4 * r + c], A^T = [1 1 1 0; 0 1 -1 -1]: the 2x2
// outputs before bias.
template <typename V>
inline void OutputTile(const V (&m)[16], V (&y)[2][2]) {
  V s[2][4];
  for (int q = 0; q < 4; ++q) {  // A^T m
    s[0][q] = m[q] + m[4 + q] + m[8 + q];
    s[1][q] = m[4 + q] - m[8 + q] - m[12 + q];
  }
  for (int r = 0; r < 2; ++r) {  // (A^T m) A
    y[r][0] = s[r][0] + s[r][1] + s[r][2];
    y[r][1] = s[r][1] - s[r][2] - s[r][3];
  }
}

}  // namespace winograd
}  // namespace kernels
}  // namespace digits
