describe('smoke', () => {
  it('has env', () => {
    expect(process.env.OMNIGENT_TEST_DATABASE_URL).toMatch(/omnigent_test_/);
    expect(process.env.OMNIGENT_TEST_PGLITE_TEMPLATE).toBeTruthy();
  });
});
