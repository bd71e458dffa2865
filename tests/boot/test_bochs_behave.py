#!/usr/bin/env python3
"""Behaviour guests under Bochs (VT-x with EPT) + OVMF, 3 CPUs (CPU 0 keeps the shell).

Boots tests/guests/behave.cfg and starts each guest of tests/guests/behave_*.asm
from the shell, one at a time (their timer checks want the CPUs to themselves).
A guest checks what it sees against the Intel SDM and prints one line per check,
`PASS name`, `FAIL name: detail` or `SKIP name: why`, then exits with the number
of failures.  One case per guest: every check below must have printed PASS (or
SKIP, where the CPUID the guest sees says the feature is absent), none FAIL, and
the guest must exit with status 0.  A failing case lists the FAIL lines and the
checks that never printed (a guest stopped or hung before them).  BEHAVE_ONLY
(guest names, space-separated) runs only those guests.
"""
import os
import time

from harness import Machine, Results, Timeout, run_check_guest

# Every check each guest prints; "_vcpuN" names come from CHECKC/SKIPC.
CHECKS = {
    'behave_cpuid': '''
        max_basic_leaf vendor_stable leaf_above_max_no_fault leaf_above_max_basic_data
        leaf_above_max_ext_data hypervisor_bit vmx_hidden apic_present
        osxsave_matches_cr4 osxsave_needs_xsave osxsave_tracks_cr4 xcr0_has_x87
        leaf0d_x87_sse
        leaf1_apic_id_vcpu0 leaf0b_x2apic_id_vcpu0 x2apic_msr_gp_when_disabled_vcpu0
        x2apic_msr_id_vcpu0
        leaf15_nonzero leaf16_matches_tsc max_ext_leaf long_mode_bit phys_addr_bits
        linear_addr_bits
        leaf1_apic_id_vcpu1 leaf0b_x2apic_id_vcpu1 x2apic_msr_gp_when_disabled_vcpu1
        x2apic_msr_id_vcpu1 vcpu1_same_features vcpu1_finished''',
    'behave_msr': '''
        rdmsr_unknown_12345678_gp wrmsr_unknown_12345678_gp rdmsr_unknown_c0011000_gp
        wrmsr_unknown_c0011000_gp pat_rw pat_reserved_type_gp pat_unchanged_after_gp
        sysenter_cs_rw sysenter_esp_rw sysenter_eip_rw sysenter_eip_noncanonical_gp
        sysenter_eip_unchanged_after_gp star_rw lstar_rw cstar_rw fmask_rw
        lstar_noncanonical_gp lstar_unchanged_after_gp kernel_gs_base_rw fs_base_rw
        gs_base_rw fs_base_noncanonical_gp fs_base_used_by_fs_prefix swapgs_gs_base
        swapgs_kernel_gs_base swapgs_gs_prefix
        efer_sce_rw efer_reserved_bit_gp efer_nxe_rw tsc_aux_rw rdtscp_reads_tsc_aux
        rdpid_reads_tsc_aux bios_sign_id_write_zero bios_sign_id_read platform_id_read
        misc_enable_read apic_base_read apic_base_bsp_vcpu0 apic_base_enabled
        apic_base_address mtrrcap_read mtrr_def_type_rw mtrr_var_read mtrr_fixed_read
        tsc_msr_increases tsc_msr_tracks_rdtsc tsc_write_no_fault tsc_write_moves_tsc
        tsc_adjust_follows_write
        tsc_deadline_ignored_outside_mode
        apic_base_read_vcpu1 apic_base_bsp_clear_vcpu1 lstar_per_vcpu_vcpu1
        vcpu1_finished lstar_per_vcpu_vcpu0''',
    'behave_exc': '''
        de_divide_by_zero de_rip_is_faulting_insn de_idiv_overflow db_single_step
        db_single_step_rip db_single_step_dr6_bs db_single_step_over_cpuid
        db_single_step_over_out bp_int3 bp_rip_after_int3 ud_ud2 ud_rip_is_faulting_insn
        ud_push_es_in_long_mode gp_noncanonical_load gp_rip_is_faulting_insn
        ss_noncanonical_stack_ref gp_selector_past_gdt_limit np_segment_not_present
        pf_write_not_present pf_cr2_write_not_present pf_rip_is_faulting_insn
        pf_read_not_present pf_write_read_only pf_cr2_write_read_only
        pf_wp0_allows_supervisor_write pf_reserved_bit pf_exec_nx int80_kernel
        int80_rip_after_insn nm_sse_with_ts nm_clear_after_clts xm_simd_divide_by_zero
        mf_x87_divide_by_zero pf_user_write_supervisor pf_cr2_user_write_supervisor
        ud_pushes_rf gp_unknown_msr_pushes_rf ud_vmxoff ud_vmxoff_pushes_rf gp_cr4_all_ones
        gp_cr4_pushes_rf cr4_osxsave_gp_without_xsave cr4_vmxe_gp_without_vmx
        cr4_smxe_gp_without_smx cr4_pcide_gp_without_pcid cr4_mce_gp_without_mce
        cr4_fsgsbase_gp_without_fsgsbase cr4_smep_gp_without_smep cr4_smap_gp_without_smap
        cr4_umip_gp_without_umip cr4_pke_gp_without_pku cr4_cet_gp_without_cet
        cr4_pks_gp_without_pks cr4_reserved_bit_15_gp cr4_osxsave_reads_clear
        pf_user_read_not_present gp_user_hlt gp_user_int_gate_dpl int80_from_user_dpl3_gate
        ac_user_misaligned cr0_nw_without_cd_gp cr0_high_bit_gp cr0_unchanged_after_gp''',
    'behave_io': '''
        absent_in8_2f8_2ff absent_in16_2f8 absent_in32_2fc absent_in8_3e8 absent_in8_278
        absent_in32_120 absent_write_ignored ins_advances_rdi_rcx ins_absent_reads_ones
        ins_df_decrements_rdi outs_advances_rsi_rcx absent_ports_never_fault
        rtc_uip_clears rtc_reg_a_divider rtc_reg_b_not_set rtc_reg_d_valid_ram_time
        cmos_index_bit7_is_nmi_mask rtc_time_valid rtc_weekday_valid cmos_ram_rw
        i8042_status_read i8042_input_buffer_empty''',
    'behave_apic': '''
        apic_base_xapic_enabled x2apic_msr_gp_in_xapic_mode id_register_vcpu0
        version_integrated_apic version_max_lvt svr_readback tpr_readback cr8_reads_tpr
        cr8_writes_tpr lvt_timer_readback lvt_error_readback svr_disable_masks_lvt
        tdcr_readback icr_idle_after_self_ipi self_ipi_held_while_if_clear
        irr_shows_pending_ipi self_ipi_delivered self_ipi_delivered_once isr_set_in_handler
        isr_clear_after_eoi self_ipi_on_unmapped_stack no_stale_event_after_cut_short_delivery
        unmapped_stack_ipi_retired higher_priority_first tpr_blocks_lower_class
        tpr_lowered_delivers esr_illegal_vector tmcct_counts_down oneshot_fires
        oneshot_not_early oneshot_fires_once tmcct_zero_after_oneshot
        masked_timer_no_interrupt masked_timer_still_counts periodic_fires
        tmict_zero_stops_timer periodic_rate_matches_cpuid_15
        tsc_deadline_tmcct_zero tsc_deadline_msr_readback tsc_deadline_zero_disarms
        tsc_deadline_fires tsc_deadline_not_early tsc_deadline_clears_on_fire
        tsc_deadline_past_fires vcpu1_ready id_register_vcpu1 ipi_roundtrip_vcpu1
        ipi_delivered_to_vcpu1 vcpu1_sent_ipi_while_if_clear ipi_kick_delivers_nothing_while_if_clear
        held_ipi_delivered_after_sti held_self_ipi_delivered_after_sti hlt_wakes_on_timer apic_base_extd_gp_without_x2apic
        x2apic_enable x2apic_id_msr x2apic_version_msr x2apic_tpr_msr x2apic_svr_msr
        x2apic_self_ipi_msr x2apic_icr_self_ipi x2apic_read_eoi_gp x2apic_write_id_gp
        x2apic_eoi_nonzero_gp x2apic_to_xapic_gp''',
    'behave_ioapic': '''
        ioregsel_readback ioapic_id_rw ioapic_version ioapic_max_redir_23
        ioapic_redir_reset_masked ioapic_redir_rw_all ioapic_redir_ro_bits
        ioapic_undefined_index_read ioapic_undefined_write_ignored
        ioapic_eoi_register_write''',
    'behave_dbg': '''
        dr7_kept_across_exit dr0_dr3_kept_across_exit insn_breakpoint_after_exit
        watchpoint_dr6_b1_without_bs watchpoint_keeps_bs_software_set
        single_step_emulated_insns single_step_movss_then_cpuid single_step_movss_dr7_gd
        movss_watchpoint_after_next_insn
        single_step_sti_hlt single_step_hlt_before_interrupt''',
    'behave_nmi': '''
        self_nmi_delivered self_nmi_rip nmi_blocked_in_handler nmi_pending_taken_after_iret
        nmi_pending_rip_after_iret nmi_latch_holds_one nmi_iret_exit_count
        nmi_blocked_across_iret_exit nmi_delivered_on_unmapped_stack nmi_unmapped_stack_rip''',
    'behave_smp': '''
        vcpu1_ready ipi_to_halted_vcpu ipi_to_running_vcpu nmi_to_vcpu_in_sti_shadow_loop
        ioapic_level_redelivered_after_eoi cli_hlt_woken_by_nmi
        init_with_level_bit_clear_resets_ap ap_in_cli_hlt_restarts_on_init_sipi''',
    'behave_init': 'init_to_bsp_restarts_guest',
    'behave_mem': '''
        unassigned_read8 unassigned_read16 unassigned_read32 unassigned_read64
        unassigned_read_misaligned unassigned_write_dropped unassigned_rep_movs_reads_ones
        absent_hpet_reads_ones disabled_xapic_reads_ones reenabled_xapic_answers
        apic_base_move_accepted moved_xapic_answers_at_new_base old_xapic_base_reads_ones
        xapic_back_at_default_base apic_base_past_maxphyaddr_gp apic_base_reserved_low_bit_gp''',
    'behave_pci': '''
        pci_cf8_readback pci_host_bridge_ids pci_host_bridge_class
        pci_absent_functions_read_ones pci_disabled_address_reads_ones pci_virtio_blk_ids
        pci_virtio_revision pci_virtio_subsystem_vendor pci_byte_and_word_reads
        pci_ecam_matches_conf1 pci_ecam_byte_and_word pci_ecam_absent_reads_ones
        pci_ecam_write_seen_by_conf1 pci_bar0_sizing pci_bar_unimplemented_zero
        pci_bar0_in_window pci_virtio_capabilities pci_msix_capability pci_intx_pin_a
        virtio_reset_reads_zero virtio_offers_version_1 virtio_features_ok_refused
        virtio_init_driver_ok virtio_one_queue virtio_get_id_status virtio_get_id_string
        virtio_used_length virtio_read_status virtio_read_block_header virtio_read_block_body
        virtio_write_reads_back virtio_read_past_end_ioerr virtio_unknown_type_unsupported
        virtio_queue_vector virtio_msix_interrupt virtio_intx_interrupt
        virtio_no_msi_with_msix_off virtio_loop_needs_reset
        virtio_broken_device_ignores_requests virtio_reset_recovers
        virtio_buffer_outside_memory_needs_reset virtio_avail_idx_jump_needs_reset
        virtio_indirect_not_negotiated_needs_reset virtio_no_status_byte_needs_reset
        virtio_ring_outside_memory_needs_reset virtio_ring_outside_memory_not_enabled
        virtio_works_after_every_break''',
}
GUEST_TIMEOUT = 150


r = Results()
t0 = time.time()
with Machine('bochs', 'iso', cpus=3, mem=256, timeout=880, iso='hv-behave.iso') as m:
    try:
        m.expect(r'hv> ', 300)
        print(f'# prompt after {time.time() - t0:.1f} s')
        only = os.environ.get('BEHAVE_ONLY', '').split()
        for name, names in CHECKS.items():
            if only and name not in only:
                continue
            t1 = time.time()
            status, why, lines = run_check_guest(m, name, GUEST_TIMEOUT)
            seen = {n: (kind, detail) for kind, n, detail in lines}
            fails = [f'FAIL {n}: {d}' for k, n, d in lines if k == 'FAIL']
            missing = [n for n in names.split() if n not in seen]
            skips = [n for k, n, d in lines if k == 'SKIP']
            print(f'# {name}: {why} after {time.time() - t1:.1f} s; {len(lines)} lines, '
                  f'{len(fails)} FAIL, {len(skips)} SKIP {" ".join(skips)}')
            msg = '\n'.join([f'{name} {why}'] + fails +
                            ([f'never printed: {" ".join(missing)}'] if missing else []))
            r.ok(name, status == 0 and not fails and not missing, msg)
        print(f'# behaviour guests done after {time.time() - t0:.1f} s')
    except Timeout as e:
        r.ok('bochs_behave_session', False, str(e))
r.exit()
