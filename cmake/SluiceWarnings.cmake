# Strict warnings for sluice's own targets only: third-party headers (DPDK in particular) are
# included as SYSTEM headers so their warnings under C++20 do not break -Werror.
function(sluice_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()
