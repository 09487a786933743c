#include "driver.h"

int main(int argc, char **argv)
{
    return cnnc_main(argc, argv, stdout, stderr);
}
