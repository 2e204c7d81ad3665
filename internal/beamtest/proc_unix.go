//go:build unix && !linux

package beamtest

import "syscall"

// procAttr puts prism in its own process group, so stop can signal everything it started.
// Without Linux's Pdeathsig, a prism outliving a killed test binary exits on its idle timeout.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func signalGroup(pid int, sig syscall.Signal) { syscall.Kill(-pid, sig) }
