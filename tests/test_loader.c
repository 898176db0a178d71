#include <CUnit/CUnit.h>
void add_loader_suite(void) {}
