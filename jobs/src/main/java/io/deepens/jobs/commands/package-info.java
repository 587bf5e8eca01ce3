/** One class per sub-command of the command line. */
package io.deepens.jobs.commands;
