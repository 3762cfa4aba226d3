// mw_pybind._core: pybind11 with C++17 library and language features.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

namespace py = pybind11;

namespace {

// None when absent: std::optional <-> None.
std::optional<std::size_t> find_index(const std::vector<std::string> &items, const std::string &value)
{
    if (auto it = std::find(items.begin(), items.end(), value); it != items.end())
        return static_cast<std::size_t>(it - items.begin());
    return std::nullopt;
}

using Value = std::variant<long long, double, std::string, std::vector<long long>>;

std::string describe(const Value &value)
{
    return std::visit(
        [](const auto &v) -> std::string {
            using T = std::decay_t<decltype(v)>;
            std::ostringstream out;
            if constexpr (std::is_same_v<T, long long>)
                out << "int:" << v;
            else if constexpr (std::is_same_v<T, double>)
                out << "float:" << v;
            else if constexpr (std::is_same_v<T, std::string>)
                out << "str:" << v;
            else
                out << "list[" << v.size() << "]";
            return out.str();
        },
        value);
}

std::tuple<double, double> min_max(const std::vector<double> &values)
{
    if (values.empty())
        throw std::invalid_argument("min_max() of an empty sequence");
    auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    return {*lo, *hi};
}

double safe_div(double a, double b)
{
    if (b == 0.0)
        throw std::domain_error("safe_div: division by zero");
    return a / b;
}

std::map<std::string, std::size_t> word_lengths(const std::string &text)
{
    std::map<std::string, std::size_t> out;
    std::istringstream in(text);
    for (std::string w; in >> w;)
        out.try_emplace(w, w.size());
    return out;
}

class Accumulator {
public:
    void add(double x)
    {
        ++count_;
        sum_ += x;
    }
    std::optional<double> mean() const
    {
        if (count_ == 0)
            return std::nullopt;
        return sum_ / static_cast<double>(count_);
    }
    std::size_t count() const { return count_; }

private:
    std::size_t count_ = 0;
    double sum_ = 0.0;
};

}  // namespace

PYBIND11_MODULE(_core, m)
{
    m.doc() = "pybind11 + C++17 sample";
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p)
                std::rethrow_exception(p);
        } catch (const std::domain_error &e) {
            PyErr_SetString(PyExc_ZeroDivisionError, e.what());
        }
    });
    m.def("find_index", &find_index, py::arg("items"), py::arg("value"));
    m.def("describe", &describe, py::arg("value"));
    m.def("min_max", &min_max, py::arg("values"));
    m.def("safe_div", &safe_div, py::arg("a"), py::arg("b"));
    m.def("word_lengths", &word_lengths, py::arg("text"));
    py::class_<Accumulator>(m, "Accumulator")
        .def(py::init<>())
        .def("add", &Accumulator::add)
        .def_property_readonly("mean", &Accumulator::mean)
        .def_property_readonly("count", &Accumulator::count);
}
