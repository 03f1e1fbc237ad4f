// check_boot_disk: what `trapeze run --boot disk` refuses before U-Boot would stop at its prompt.
#include "machine/boot_disk.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace trapeze::machine {
namespace {

class BootDisk : public ::testing::Test {
protected:
    void SetUp() override {
        char name[] = "/tmp/trapeze-boot-disk-XXXXXX";
        const int fd = ::mkstemp(name);
        ASSERT_GE(fd, 0);
        ::close(fd);
        m_path = name;
        m_bytes.assign(4 << 20, 0);
    }
    void TearDown() override { ::unlink(m_path.c_str()); }

    // One MBR entry of `type` starting at sector 2048, and the signature.
    void partition(uint8_t type) {
        m_bytes[510] = 0x55;
        m_bytes[511] = 0xaa;
        m_bytes[446 + 4] = type;
        m_bytes[446 + 8] = 0x00;
        m_bytes[446 + 9] = 0x08;  // LBA 2048, little-endian
    }
    void ext_magic() {
        m_bytes[2048 * 512 + 1024 + 0x38] = 0x53;
        m_bytes[2048 * 512 + 1024 + 0x39] = 0xef;
    }
    Result<void> check(size_t size = 0) {
        std::ofstream(m_path, std::ios::binary)
            .write(reinterpret_cast<const char*>(m_bytes.data()), static_cast<std::streamsize>(size ? size : m_bytes.size()));
        return check_boot_disk(m_path);
    }
    static std::string message(const Result<void>& r) { return r ? std::string() : r.error().message; }

    std::string m_path;
    std::vector<uint8_t> m_bytes;
};

TEST_F(BootDisk, AcceptsAnExtFileSystemInAnMbrLinuxPartition) {
    partition(0x83);
    ext_magic();
    EXPECT_TRUE(check().ok()) << message(check());
}

TEST_F(BootDisk, LeavesAGptsPartitionsToUBoot) {
    partition(0xee);
    EXPECT_TRUE(check().ok());
}

TEST_F(BootDisk, RefusesAWholeDiskFileSystemWithoutPartitionTable) {
    const auto r = check();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(message(r).find("has no partition table"), std::string::npos) << message(r);
}

TEST_F(BootDisk, RefusesADiskWithoutLinuxPartition) {
    partition(0x0c);  // FAT32
    const auto r = check();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(message(r).find("no Linux partition (type 83)"), std::string::npos) << message(r);
}

TEST_F(BootDisk, RefusesALinuxPartitionWithoutExtFileSystem) {
    partition(0x83);
    const auto r = check();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(message(r).find("holds an ext2/3/4 file system"), std::string::npos) << message(r);
}

TEST_F(BootDisk, RefusesADiskTooSmallForItsPartitionAndAMissingOne) {
    partition(0x83);
    const auto r = check(4096);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(message(r).find("too small"), std::string::npos) << message(r);
    const auto missing = check_boot_disk("/nonexistent/disk.img");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(message(missing).find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace trapeze::machine
