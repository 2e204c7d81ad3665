package beamtest

import "syscall"

// procAttr puts prism in its own process group (so stop can signal everything it started) and
// has the kernel kill it if the thread that started it, and so the test binary, dies first.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func signalGroup(pid int, sig syscall.Signal) { syscall.Kill(-pid, sig) }
