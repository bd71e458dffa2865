; SPDX-License-Identifier: MIT
; memz: 4 passes of compressible pages (memz.inc), for the overcommit test.
%define PASSES 4
%include "memz.inc"
