#include <gtest/gtest.h>

#include "hd/kernels/device.h"

namespace hd {
namespace {

TEST(DeviceInfo, ReportsAvailabilityConsistentlyWithDeviceCount) {
  DeviceInfo d = query_device(0);
  EXPECT_EQ(d.available, cuda_device_count() > 0);
  if (d.available) {
    EXPECT_FALSE(d.name.empty());
    EXPECT_GE(d.compute_major, 8) << "the CUDA backend targets sm_80 and newer";
    EXPECT_GT(d.memory_bytes, 0u);
  } else {
    EXPECT_FALSE(d.reason.empty()) << "an unavailable device must say why";
  }
}

TEST(DeviceInfo, OutOfRangeIndexIsUnavailableWithReason) {
  DeviceInfo d = query_device(1000);
  EXPECT_FALSE(d.available);
  EXPECT_FALSE(d.reason.empty());
}

TEST(DeviceInfo, RuntimeTextMatchesBuild) {
  if (cuda_compiled()) EXPECT_EQ(cuda_runtime_text().rfind("CUDA ", 0), 0u);
  else EXPECT_EQ(cuda_runtime_text(), "none");
}

}  // namespace
}  // namespace hd
