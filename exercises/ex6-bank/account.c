/* account.c: ex6-bank, the file you edit: amounts, deposits, withdrawals
 * and transfers.
 *
 * This first draft works when one customer at a time uses the bank. Run
 * `make check-ex6` and read what check mode finds when several do.
 */
#include <stdlib.h>

#include "account.h"

int amount_parse(const char *text, int64_t *cents) {
  /* TODO(ex6) part 0: parse the digits exactly, with integers. This
   * floating-point version takes "10.001" and turns "0.29" into 28 cents. */
  char *end;
  double value = strtod(text, &end);
  if (end == text || *end != '\0' || value < 0) return BANK_EAMOUNT;
  *cents = (int64_t)(value * 100);
  return 0;
}

int account_deposit(account_t *account, int64_t cents) {
  if (cents <= 0) return BANK_EAMOUNT;
  /* TODO(ex6) part 1: the balance is read here, before the report below
   * waits; whatever other tasks do to the balance meanwhile is overwritten
   * by the write at the end. */
  int64_t balance = account_balance(account);
  if (cents > BANK_AML_THRESHOLD) {
    int rc = bank_report_deposit(account, cents);
    if (rc != 0) return rc;
  }
  account_set_balance(account, balance + cents);
  return 0;
}

int account_withdraw(account_t *account, int64_t cents) {
  if (cents <= 0) return BANK_EAMOUNT;
  /* TODO(ex6) part 1: refuse more than BANK_WITHDRAWAL_LIMIT. */
  /* TODO(ex6) part 1: the funds are checked here, before the TAN wait;
   * by the time the customer has confirmed, another withdrawal may have
   * taken them. */
  if (account_balance(account) < cents) return BANK_EFUNDS;
  int rc = bank_confirm_tan(account, cents);
  if (rc != 0) return rc;
  account_set_balance(account, account_balance(account) - cents);
  return 0;
}

int account_transfer(account_t *from, account_t *to, int64_t cents) {
  /* TODO(ex6) part 2: move the money, all or nothing, with a TAN, without
   * deadlocking against a transfer the other way. */
  (void)from;
  (void)to;
  (void)cents;
  return UV_ENOSYS;
}
