dist_man_MANS += %D%/drumbeatd.8 %D%/drumbeat.1
