// ChildProcess: runs a test body in a forked child, so that the seccomp filter it installs and
// the way it ends (a forbidden call stops the whole process) do not touch the test runner.
// The child's stderr is captured; the body's return value is its exit status.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

namespace trapeze::sandbox::test {

struct ChildEnd {
    bool exited = false;  // by exit(2), not by a signal
    int status = -1;      // the exit status, or the signal's number
    std::string stderr_text;
};

inline ChildEnd run_in_child(const std::function<int()>& body) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) std::abort();
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) std::abort();
    if (pid == 0) {
        ::dup2(pipe_fds[1], STDERR_FILENO);
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        _exit(body());  // not exit(): no atexit handlers (a sanitizer's leak check) in the child
    }
    ::close(pipe_fds[1]);
    ChildEnd end;
    char buf[512];
    for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;)
        end.stderr_text.append(buf, static_cast<size_t>(n));
    ::close(pipe_fds[0]);
    int wstatus = 0;
    ::waitpid(pid, &wstatus, 0);
    end.exited = WIFEXITED(wstatus);
    end.status = end.exited ? WEXITSTATUS(wstatus) : WTERMSIG(wstatus);
    return end;
}

}  // namespace trapeze::sandbox::test
