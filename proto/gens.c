/* gens.c — the generation page's slots and counters (gens.h). Shared memory between
 * the daemon, its only writer, and its clients: aligned uint64 loads and stores with
 * release on the writer's side and acquire on the readers'. */
#include "gens.h"

static uint64_t *gens_word(void *page, size_t at)
{
    return (uint64_t *)((unsigned char *)page + at);
}

uint32_t gens_slot(const char *name, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)name[i];
        h *= 0x100000001b3ull;
    }
    return (uint32_t)(h % GENS_SLOTS);
}

void gens_format(void *page)
{
    __atomic_store_n(gens_word(page, 0), GENS_MAGIC, __ATOMIC_RELEASE);
}

void gens_bump(void *page, uint32_t slot)
{
    uint64_t *w = gens_word(page, GENS_SLOTS_AT + 8u * (slot % GENS_SLOTS));

    __atomic_store_n(w, __atomic_load_n(w, __ATOMIC_RELAXED) + 1, __ATOMIC_RELEASE);
}

uint64_t gens_read(const void *page, uint32_t slot)
{
    return __atomic_load_n(gens_word((void *)page, GENS_SLOTS_AT + 8u * (slot % GENS_SLOTS)),
                           __ATOMIC_ACQUIRE);
}

int gens_valid(const void *page)
{
    return __atomic_load_n(gens_word((void *)page, 0), __ATOMIC_ACQUIRE) == GENS_MAGIC;
}
