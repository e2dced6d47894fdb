"""runfolder"""
