# ASan + UBSan for the whole test build. UBSan is made fatal so a report fails the test.
if(SLUICE_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options(${_san})
  add_link_options(-fsanitize=address,undefined)
endif()
