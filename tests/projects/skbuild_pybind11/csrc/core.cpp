#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "work.hpp"

namespace py = pybind11;

namespace {
// A C++ exception type of the module's own, translated to a Python exception class.
struct QuotaExceeded : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::optional<std::string> first_word(const std::string &text) {
    auto parts = skdemo::split(text, ' ');
    for (auto part : parts) {
        if (!part.empty()) {
            return std::string(part);
        }
    }
    return std::nullopt;
}

std::uint64_t checked_total(std::uint64_t n, std::uint64_t quota) {
    auto total = skdemo::parallel_sum_squares(n, 2);
    if (total > quota) {
        throw QuotaExceeded("total " + std::to_string(total) + " exceeds quota " + std::to_string(quota));
    }
    return total;
}
}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "skdemo: C++17 through scikit-build-core and manywheel";
    m.attr("flag") = py::bool_(SKDEMO_FLAG);
    m.attr("cplusplus") = py::int_(__cplusplus);
    m.def("parallel_sum_squares", &skdemo::parallel_sum_squares, py::arg("n"), py::arg("threads") = 4,
          py::call_guard<py::gil_scoped_release>());
    m.def("hardware_threads", [] { return std::thread::hardware_concurrency(); });
    m.def("parse_count", &skdemo::parse_count);  // std::invalid_argument -> ValueError
    m.def("first_word", &first_word);
    m.def("checked_total", &checked_total, py::arg("n"), py::arg("quota"));
    py::register_exception<QuotaExceeded>(m, "QuotaExceeded", PyExc_RuntimeError);
}
