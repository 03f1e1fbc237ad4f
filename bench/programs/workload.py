"""The python3 program of bench/programs.sh: plain interpreted Python of the kinds real scripts
are made of (dictionaries and strings, objects and method calls, floating point, recursion,
sorting). Prints deterministic results (floating point only through + - * / and sqrt, which IEEE
754 rounds the same on every host) so that runs can be compared.
"""
import sys


def word_counts(path, limit):
    counts = {}
    with open(path, encoding="ascii") as f:
        for line in f.read(limit).split("\n"):
            for word in line.lower().rstrip(".").split():
                counts[word] = counts.get(word, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return len(counts), top


class Body:
    __slots__ = ("x", "y", "z", "vx", "vy", "vz", "m")

    def __init__(self, x, y, z, vx, vy, vz, m):
        self.x, self.y, self.z, self.vx, self.vy, self.vz, self.m = x, y, z, vx, vy, vz, m

    def energy(self):
        return 0.5 * self.m * (self.vx * self.vx + self.vy * self.vy + self.vz * self.vz)


def nbody(steps):
    bodies = [Body(i * 1.5, -i * 0.5, i * 0.25, 0.01 * i, 0.02, -0.01 * i, 1.0 + i) for i in range(5)]
    dt = 0.001
    for _ in range(steps):
        for i, a in enumerate(bodies):
            for b in bodies[i + 1:]:
                dx, dy, dz = a.x - b.x, a.y - b.y, a.z - b.z
                d2 = dx * dx + dy * dy + dz * dz + 0.01
                mag = dt / (d2 * d2 ** 0.5)
                a.vx -= dx * b.m * mag; a.vy -= dy * b.m * mag; a.vz -= dz * b.m * mag
                b.vx += dx * a.m * mag; b.vy += dy * a.m * mag; b.vz += dz * a.m * mag
        for body in bodies:
            body.x += dt * body.vx; body.y += dt * body.vy; body.z += dt * body.vz
    return sum(body.energy() for body in bodies)


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def strings(n):
    parts = [f"{i:05d}:{i * i % 9973:x}" for i in range(n)]
    joined = ",".join(parts)
    return len(joined), joined.count("a"), sorted(parts, key=lambda s: s[::-1])[n // 2]


def main():
    path = sys.argv[1]
    print("words", *word_counts(path, 1 << 20))
    print("nbody %.12f" % nbody(8000))
    print("fib", fib(24))
    print("strings", *strings(100000))


main()
