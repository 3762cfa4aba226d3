#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace skdemo {
// Sum of squares of 0..n-1, split over `threads` std::threads.
std::uint64_t parallel_sum_squares(std::uint64_t n, unsigned threads);
// Parses a non-negative integer; throws std::invalid_argument on anything else.
std::uint64_t parse_count(std::string_view text);
// Splits on `sep`, in C++17 style (string_view, structured bindings inside).
std::vector<std::string_view> split(std::string_view text, char sep);
}  // namespace skdemo
