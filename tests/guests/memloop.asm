; SPDX-License-Identifier: MIT
; memloop: memz.inc passes until stopped, "pass ok" every 64; for the zap test.
%define PASSES 0
%include "memz.inc"
