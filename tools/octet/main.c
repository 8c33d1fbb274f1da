#include <stdio.h>
#include "octet.h"
int main(void) { printf("octet %s\n", octet_version()); return 0; }
