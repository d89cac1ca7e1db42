/* leaky.c — an internal helper without the sharr_ prefix, as a careless change could
 * leave global: abi.symbols_catch_an_unprefixed_global adds it to a copy of libsharr.a
 * and expects symbols.sh to name it. Nothing links it.
 */
int leaky_helper(void);

int leaky_helper(void)
{
    return 42;
}
