#include <CUnit/CUnit.h>
void add_runtime_suite(void) {}
