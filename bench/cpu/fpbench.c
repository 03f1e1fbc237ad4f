/* fpbench: a floating-point program of the project's own — an n-body simulation (binary64,
 * sqrt), a binary32 matrix product, a Mandelbrot set (binary64 compares), and a histogram that
 * clamps with fmin/fmax and converts to unsigned — run natively on the host and, built static
 * for riscv64, inside the guest under trapeze and under QEMU (bench/cpu.sh --program fpbench).
 * Only + - * / and sqrt, which IEEE 754 rounds the same everywhere, and built with
 * -ffp-contract=off (riscv64's gcc would fuse a*b+c, x86-64's would not), so every run gives
 * the same checksum. Compiled with -fmath-errno (gcc's default), sqrt's domain check reads and
 * restores fflags around a quiet comparison, as most C programs' do. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { kBodies = 5, kSteps = 300000, kDim = 96, kProducts = 30, kPixels = 400, kSamples = 2000000 };

static double nbody(void) {
    double x[kBodies], y[kBodies], z[kBodies], vx[kBodies], vy[kBodies], vz[kBodies], m[kBodies];
    for (int i = 0; i < kBodies; i++) {
        x[i] = i * 1.5, y[i] = -i * 0.5, z[i] = i * 0.25;
        vx[i] = 0.01 * i, vy[i] = 0.02, vz[i] = -0.01 * i, m[i] = 1.0 + i;
    }
    for (int s = 0; s < kSteps; s++) {
        for (int i = 0; i < kBodies; i++) {
            for (int j = i + 1; j < kBodies; j++) {
                const double dx = x[i] - x[j], dy = y[i] - y[j], dz = z[i] - z[j];
                const double d2 = dx * dx + dy * dy + dz * dz + 0.01;
                const double mag = 0.001 / (d2 * sqrt(d2));
                vx[i] -= dx * m[j] * mag, vy[i] -= dy * m[j] * mag, vz[i] -= dz * m[j] * mag;
                vx[j] += dx * m[i] * mag, vy[j] += dy * m[i] * mag, vz[j] += dz * m[i] * mag;
            }
        }
        for (int i = 0; i < kBodies; i++) x[i] += 0.001 * vx[i], y[i] += 0.001 * vy[i], z[i] += 0.001 * vz[i];
    }
    double e = 0;
    for (int i = 0; i < kBodies; i++) e += 0.5 * m[i] * (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i]);
    return e;
}

static double matrix_product(void) {
    static float a[kDim][kDim], b[kDim][kDim], c[kDim][kDim];
    for (int i = 0; i < kDim; i++) {
        for (int j = 0; j < kDim; j++) {
            a[i][j] = (float)((i * 7 + j) % 13) / 7.0f;
            b[i][j] = (float)((i + j * 3) % 11) / 5.0f;
        }
    }
    for (int r = 0; r < kProducts; r++) {
        for (int i = 0; i < kDim; i++) {
            for (int j = 0; j < kDim; j++) {
                float s = 0;
                for (int k = 0; k < kDim; k++) s += a[i][k] * b[k][j];
                c[i][j] = s;
            }
        }
        a[r % kDim][r % kDim] += 0.001f;
    }
    double t = 0;
    for (int i = 0; i < kDim; i++)
        for (int j = 0; j < kDim; j++) t += c[i][j];
    return t;
}

static double mandelbrot(void) {
    uint64_t iterations = 0;
    for (int py = 0; py < kPixels; py++) {
        for (int px = 0; px < kPixels; px++) {
            const double cr = -2.0 + 2.5 * px / kPixels, ci = -1.25 + 2.5 * py / kPixels;
            double zr = 0, zi = 0;
            int k = 0;
            while (k < 200 && zr * zr + zi * zi < 4.0) {
                const double t = zr * zr - zi * zi + cr;
                zi = 2 * zr * zi + ci;
                zr = t;
                k++;
            }
            iterations += (uint64_t)k;
        }
    }
    return (double)iterations;
}

static double histogram(void) {
    static unsigned bins[256];
    memset(bins, 0, sizeof bins);
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < kSamples; i++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        const double v = (double)(state >> 11) / 9007199254740992.0 * 300.0 - 20.0;
        bins[(unsigned)fmin(fmax(v, 0.0), 255.0)]++;
    }
    double h = 0;
    for (int i = 0; i < 256; i++) h = h * 1.5 + bins[i];
    return h;
}

int main(void) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const double results[] = {nbody(), matrix_product(), mandelbrot(), histogram()};
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    uint64_t check = 0;
    for (size_t i = 0; i < sizeof results / sizeof results[0]; i++) {
        uint64_t bits;
        memcpy(&bits, &results[i], sizeof bits);
        check = check * 1000003 + bits;
    }
    printf("CPUBENCH: %.3f s checksum %016llx\n", secs, (unsigned long long)check);
    return 0;
}
