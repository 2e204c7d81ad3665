// emu_export.h: what Go calls.
#pragma once
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
// emu_launch runs kernel on grid blocks of block threads with n argument slots; 0 on success,
// 1 for an unknown kernel or a wrong argument count.
int emu_launch(const char *kernel, int grid, int block, const uint64_t *args, int n);
// emu_nargs is the parameter count of kernel, or -1 if the emulator does not have it.
int emu_nargs(const char *kernel);
#ifdef __cplusplus
}
#endif
#ifdef __cplusplus
extern "C" {
#endif
// emu_sources names the kernel sources this was compiled from: "h" + SourcesHash() (see doc.go).
const char *emu_sources(void);
#ifdef __cplusplus
}
#endif
