// VmResources (issue 22): Firecracker's JSON objects read strictly, a --config-file read
// whole, and the kernel's architecture told from the file; parse_json_body, which reads both.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "api/json_fields.hpp"
#include "api/vm_resources.hpp"

namespace trapeze::api {
namespace {

std::string temp_file(const std::string& name, const std::string& content) {
    std::string path = ::testing::TempDir() + "vmres_" + name + std::to_string(::getpid());
    std::ofstream(path, std::ios::binary) << content;
    return path;
}

TEST(VmResources, ReadsARateLimiterAndGivesItBack) {
    const json j = json::parse(R"({"bandwidth": {"size": 1048576, "refill_time": 1000, "one_time_burst": 4096},
                                   "ops": {"size": 100, "refill_time": 1000}})");
    auto r = parse_rate_limiter(j, "drive.rate_limiter");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->bandwidth->size, 1048576u);
    EXPECT_EQ(r->bandwidth->one_time_burst, 4096u);
    EXPECT_EQ(r->ops->refill_time_ms, 1000u);
    EXPECT_EQ(rate_limiter_json(*r), j);
    auto missing = parse_rate_limiter(json::parse(R"({"ops": {"size": 1}})"), "x");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("refill_time"), std::string::npos);
}

TEST(VmResources, ReadsAWholeConfigFile) {
    const auto kernel = temp_file("k", std::string(0x38, '\0') + "RSC\x05" + std::string(8, '\0'));
    const auto disk = temp_file("d", std::string(512, '\0'));
    const json cfg{{"boot-source", {{"kernel_image_path", kernel}, {"boot_args", "console=ttyS0"}}},
                   {"drives", json::array({{{"drive_id", "data"}, {"path_on_host", disk}, {"is_root_device", false}, {"is_read_only", true}},
                                           {{"drive_id", "root"}, {"path_on_host", disk}, {"is_root_device", true}, {"is_read_only", true}}})},
                   {"machine-config", {{"vcpu_count", 2}, {"mem_size_mib", 256}}},
                   {"network-interfaces", json::array({{{"iface_id", "eth0"}, {"backend", "user"}, {"hostfwd", {"tcp::2222-:22"}}}})},
                   {"entropy", json::object()}};
    auto r = VmResources::from_config_file(cfg);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->machine().vcpu_count, 2u);
    EXPECT_EQ(r->drives().size(), 2u);
    EXPECT_TRUE(r->nets()[0].user);
    EXPECT_TRUE(r->has_entropy());
    json bad = cfg;
    bad["drives"][0]["is_root_device"] = true;  // two root devices
    auto refused = VmResources::from_config_file(bad);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("root device"), std::string::npos) << refused.error().message;
    ::unlink(kernel.c_str());
    ::unlink(disk.c_str());
}

// Every object of a body is read with its keys once: a key given twice is refused, wherever
// it is, and one key in two objects is not a repeat.
TEST(ParseJsonBody, RefusesAKeyGivenTwiceInOneObject) {
    for (const char* body :
         {R"({"a": 1, "a": 1})", R"({"a": {"b": [1, {"c": 1, "c": 2}]}})", R"([{"x": 1, "y": {}, "x": 2}])"}) {
        auto j = parse_json_body(body);
        ASSERT_FALSE(j) << body;
        EXPECT_NE(j.error().message.find("twice"), std::string::npos) << j.error().message;
    }
    auto j = parse_json_body(R"({"a": {"b": 1}, "c": {"b": 2, "a": {"b": 3}}, "d": [{"b": 1}, {"b": 2}]})");
    ASSERT_TRUE(j) << j.error().message;
    EXPECT_EQ((*j)["c"]["a"]["b"], 3);
}

TEST(VmResources, TellsTheKernelsArchitecture) {
    const auto image = temp_file("img", std::string(0x38, '\0') + "RSC\x05" + std::string(8, '\0'));
    std::string bz(0x210, '\0');
    bz.replace(0x202, 4, "HdrS");
    const auto bzimage = temp_file("bz", bz);
    std::string elf(64, '\0');
    elf.replace(0, 4, "\x7f" "ELF");
    elf[18] = 62;
    const auto vmlinux = temp_file("elf", elf);
    const auto text = temp_file("txt", "hello, this is not a kernel at all, not even close to one");
    EXPECT_EQ(detect_kernel_arch(image).value(), GuestArch::Riscv64);
    EXPECT_EQ(detect_kernel_arch(bzimage).value(), GuestArch::X86_64);
    EXPECT_EQ(detect_kernel_arch(vmlinux).value(), GuestArch::X86_64);
    EXPECT_FALSE(detect_kernel_arch(text));
    EXPECT_FALSE(detect_kernel_arch("/nonexistent"));
    for (const auto& f : {image, bzimage, vmlinux, text}) ::unlink(f.c_str());
}

}  // namespace
}  // namespace trapeze::api
