/* account.h: the functions you write in account.c (kit-owned; do not
 * edit). Amounts are in cents; see bank.h for the services and codes.
 *
 * The rules, for every function below:
 * - no deposit is ever lost, whatever the other tasks do meanwhile;
 * - no balance ever goes below zero;
 * - an operation that is refused changes nothing;
 * - operations on different accounts never wait for each other.
 */
#ifndef ACCOUNT_H
#define ACCOUNT_H

#include <stdint.h>

#include "bank.h"

/* Part 0. Parses an amount such as "12.34", "0.5" or "7" into cents.
 * Accepted: one or more digits, then optionally a point and one or two
 * digits; at most BANK_MAX_AMOUNT; "0" is a valid amount (the operations
 * are the ones that refuse it). Anything else is BANK_EAMOUNT, *cents
 * untouched: "10.001" (less than a cent), "-5", "+5", "12.", ".5", "1e3",
 * "1,000", " 5", "". Returns 0 or BANK_EAMOUNT. */
int amount_parse(const char *text, int64_t *cents);

/* Part 1. Blocks: puts `cents` into account; first reports the deposit
 * with bank_report_deposit() if it is above BANK_AML_THRESHOLD (once).
 * Returns 0; BANK_EAMOUNT if cents <= 0; or the service's error. */
int account_deposit(account_t *account, int64_t cents);

/* Part 1. Blocks: takes `cents` out of account, once the customer has
 * confirmed it with bank_confirm_tan(). Returns 0; BANK_EAMOUNT if
 * cents <= 0; BANK_ELIMIT if cents > BANK_WITHDRAWAL_LIMIT; BANK_EFUNDS if
 * the balance is smaller than cents; BANK_EDENIED if the TAN was denied;
 * or the service's error. When it fails, the balance is what it was. */
int account_withdraw(account_t *account, int64_t cents);

/* Part 2. Blocks: moves `cents` from one account to another, once the
 * customer has confirmed it with a TAN (no limit, no AML report: the money
 * stays in the bank). All or nothing: either both balances change, or
 * neither does, and no other task ever sees the money in neither account
 * or in both. Two transfers in opposite directions must never deadlock.
 * Returns 0; BANK_EAMOUNT if cents <= 0; UV_EINVAL if from and to are the
 * same account; BANK_EFUNDS; BANK_EDENIED; or the service's error. */
int account_transfer(account_t *from, account_t *to, int64_t cents);

#endif /* ACCOUNT_H */
