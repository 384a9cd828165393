/* Broken tenant: main() is fine but there is no my_backend(). */
int main(void)
{
	return 0;
}
