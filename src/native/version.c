#include "berth.h"

const char *berth_native_version(void) { return "berth-native 1"; }
