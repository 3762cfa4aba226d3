#include "work.hpp"

#include <charconv>
#include <stdexcept>
#include <string>
#include <thread>

namespace skdemo {

std::uint64_t parallel_sum_squares(std::uint64_t n, unsigned threads) {
    if (threads == 0) {
        throw std::invalid_argument("threads must be at least 1");
    }
    std::vector<std::uint64_t> partial(threads, 0);
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
        pool.emplace_back([&partial, n, threads, t] {
            for (std::uint64_t i = t; i < n; i += threads) {
                partial[t] += i * i;
            }
        });
    }
    for (auto &thread : pool) {
        thread.join();
    }
    std::uint64_t total = 0;
    for (auto value : partial) {
        total += value;
    }
    return total;
}

std::uint64_t parse_count(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
        throw std::invalid_argument("not a count: '" + std::string(text) + "'");
    }
    return value;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        auto at = text.find(sep, start);
        parts.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
        if (at == std::string_view::npos) {
            return parts;
        }
        start = at + 1;
    }
}

}  // namespace skdemo
