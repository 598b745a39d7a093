/* port_stubs.c — the flash and reset functions uart_main.c expects from a
 * board support package, as stand-ins so the example links for the
 * footprint script. A real port implements them on its flash controller. */
#include <stdint.h>
#include <string.h>

int flash_program(uint32_t addr, const void *src, uint32_t n)
{
	memcpy((void *)(uintptr_t)(0x20004000u + (addr & 0xfff)), src, n);
	return 0;
}
int flash_erase(uint32_t addr, uint32_t n)
{
	(void)addr, (void)n;
	return 0;
}
void flash_read(uint32_t addr, void *dst, uint32_t n) { memcpy(dst, (const void *)(uintptr_t)addr, n); }
uint32_t boot_counter_increment(void) { return 1; }
void reboot_into(const uint8_t sha[32], int confirm)
{
	(void)sha, (void)confirm;
	for (;;)
		;
}
