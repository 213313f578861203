/* account.c: ex6-bank, solved without locks: every await comes before the
 * reads, so each read, check and write happens in one step, where no other
 * task can run. */
#include "account.h"

int amount_parse(const char *text, int64_t *cents) {
  const char *c = text;
  int64_t units = 0;
  if (*c < '0' || *c > '9') return BANK_EAMOUNT;
  for (; *c >= '0' && *c <= '9'; c++) {
    if (units > BANK_MAX_AMOUNT / 100) return BANK_EAMOUNT;
    units = units * 10 + (*c - '0');
  }
  int64_t fraction = 0;
  if (*c == '.') {
    c++;
    int digits = 0;
    for (; *c >= '0' && *c <= '9' && digits < 2; c++, digits++)
      fraction = fraction * 10 + (*c - '0');
    if (digits == 0) return BANK_EAMOUNT;
    if (digits == 1) fraction *= 10;
  }
  if (*c != '\0') return BANK_EAMOUNT;
  int64_t total = units * 100 + fraction;
  if (total > BANK_MAX_AMOUNT) return BANK_EAMOUNT;
  *cents = total;
  return 0;
}

int account_deposit(account_t *account, int64_t cents) {
  if (cents <= 0) return BANK_EAMOUNT;
  if (cents > BANK_AML_THRESHOLD) {
    int rc = bank_report_deposit(account, cents);
    if (rc != 0) return rc;
  }
  /* The last await is behind us: read and write in one step. */
  account_set_balance(account, account_balance(account) + cents);
  return 0;
}

int account_withdraw(account_t *account, int64_t cents) {
  if (cents <= 0) return BANK_EAMOUNT;
  if (cents > BANK_WITHDRAWAL_LIMIT) return BANK_ELIMIT;
  /* Ask first, check after: the check and the write share one step. */
  int rc = bank_confirm_tan(account, cents);
  if (rc != 0) return rc;
  int64_t balance = account_balance(account);
  if (balance < cents) return BANK_EFUNDS;
  account_set_balance(account, balance - cents);
  return 0;
}

int account_transfer(account_t *from, account_t *to, int64_t cents) {
  if (cents <= 0) return BANK_EAMOUNT;
  if (from == to) return UV_EINVAL;
  int rc = bank_confirm_tan(from, cents);
  if (rc != 0) return rc;
  /* No lock, so no lock order, so no deadlock: one step moves the money. */
  int64_t balance = account_balance(from);
  if (balance < cents) return BANK_EFUNDS;
  account_set_balance(from, balance - cents);
  account_set_balance(to, account_balance(to) + cents);
  return 0;
}
