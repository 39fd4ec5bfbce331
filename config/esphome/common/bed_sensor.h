// Bed sensor firmware helpers: a fixed sampling grid, one batch of samples, and the exact JSON
// that smart-bedroom's motion parser reads (integration/adapters/payloads/motion.py):
//
//   {"t0":1764962400.020,"rate":50,"x":[0.0123,-0.0040],"y":[...],"z":[...]}
//
// - keys in this order; "t0" (epoch seconds of the first sample, 3 decimals) only once SNTP has
//   set the clock: without it the service anchors the batch so its last sample is at arrival;
// - "rate" an integer in Hz; "x", "y", "z" of equal length, in g with 4 decimals (0.1 mg, below
//   the sensors' 61 µg step and their ~2-3 mg noise), converted from ESPHome's m/s²;
// - sample i was taken at t0 + i / rate: a batch never spans a missed sample (the caller closes
//   the batch instead), so the timing it implies is true.
//
// Plain C++ with no ESPHome header, so tests/esphome compiles this very file with the host's
// g++ and feeds its output to the service's parser.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <sys/time.h>

namespace bed_sensor {

// CGPM 1901 standard gravity: the factor ESPHome's mpu6050/mpu6886 drivers multiply g by.
constexpr float STANDARD_GRAVITY_M_S2 = 9.80665f;

// Epoch seconds with microseconds, from the system clock that ESPHome's SNTP sets.
inline double wall_clock_s() {
  timeval now{};
  gettimeofday(&now, nullptr);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_usec) / 1e6;
}

// A fixed grid of sample times on the millisecond clock. ESPHome reschedules an `interval` from
// when it last ran, so it slowly falls behind; polling this grid more often than the sample
// period keeps the rate exact and tells which slots were missed.
class SampleGrid {
 public:
  explicit SampleGrid(uint32_t period_ms) : period_ms_(period_ms) {}

  // Slots that fell due by now_ms: 0 = not yet, 1 = take a sample, n > 1 = n - 1 were missed.
  // Unsigned arithmetic keeps it right across millis() wrapping after 49.7 days.
  uint32_t slots_due(uint32_t now_ms) {
    if (!this->started_) {
      this->started_ = true;
      this->next_ms_ = now_ms;
    }
    const uint32_t ahead_ms = now_ms - this->next_ms_;
    if (ahead_ms >= 0x80000000u) {  // next_ms_ is still ahead of now_ms
      return 0;
    }
    const uint32_t slots = ahead_ms / this->period_ms_ + 1;
    this->next_ms_ += slots * this->period_ms_;
    return slots;
  }

  // The grid time of the slot just taken.
  uint32_t slot_ms() const { return this->next_ms_ - this->period_ms_; }

 private:
  uint32_t period_ms_;
  uint32_t next_ms_{0};
  bool started_{false};
};

// One batch of consecutive samples at a fixed rate.
class Batch {
 public:
  Batch(uint32_t rate_hz, size_t capacity) : rate_hz_(rate_hz), capacity_(capacity) {
    this->x_g_.reserve(capacity);
    this->y_g_.reserve(capacity);
    this->z_g_.reserve(capacity);
  }

  // Append a sample in m/s². `t_s` is its epoch time (0 when the clock is not set), kept as t0
  // when it is the batch's first. False when the batch is full (the caller publishes first).
  bool append(float x_m_s2, float y_m_s2, float z_m_s2, double t_s) {
    if (this->full()) {
      return false;
    }
    if (this->x_g_.empty()) {
      this->t0_s_ = t_s;
    }
    this->x_g_.push_back(x_m_s2 / STANDARD_GRAVITY_M_S2);
    this->y_g_.push_back(y_m_s2 / STANDARD_GRAVITY_M_S2);
    this->z_g_.push_back(z_m_s2 / STANDARD_GRAVITY_M_S2);
    return true;
  }

  size_t size() const { return this->x_g_.size(); }
  bool empty() const { return this->x_g_.empty(); }
  bool full() const { return this->x_g_.size() >= this->capacity_; }

  void clear() {
    this->x_g_.clear();
    this->y_g_.clear();
    this->z_g_.clear();
    this->t0_s_ = 0.0;
  }

  // The payload, byte for byte as described at the top of this file.
  std::string to_json() const {
    std::string out;
    out.reserve(48 + 3 * 9 * this->size());
    char number[32];
    out += '{';
    if (this->t0_s_ > 0.0) {
      std::snprintf(number, sizeof number, "\"t0\":%.3f,", this->t0_s_);
      out += number;
    }
    std::snprintf(number, sizeof number, "\"rate\":%u", static_cast<unsigned>(this->rate_hz_));
    out += number;
    append_axis_(out, "x", this->x_g_);
    append_axis_(out, "y", this->y_g_);
    append_axis_(out, "z", this->z_g_);
    out += '}';
    return out;
  }

 private:
  static void append_axis_(std::string &out, const char *name, const std::vector<float> &values) {
    char number[24];
    out += ",\"";
    out += name;
    out += "\":[";
    for (size_t i = 0; i < values.size(); i++) {
      float value = values[i];
      if (std::fabs(value) < 0.00005f) {
        value = 0.0f;  // no "-0.0000": one spelling per value
      }
      std::snprintf(number, sizeof number, i == 0 ? "%.4f" : ",%.4f", static_cast<double>(value));
      out += number;
    }
    out += ']';
  }

  uint32_t rate_hz_;
  size_t capacity_;
  double t0_s_{0.0};
  std::vector<float> x_g_;
  std::vector<float> y_g_;
  std::vector<float> z_g_;
};

}  // namespace bed_sensor
